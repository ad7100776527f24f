// Wording shared by messages: a count with its noun in the right number.

/** "1 backup", "2 backups"; irregular nouns give their plural ("1 anomaly", "3 anomalies"). */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
