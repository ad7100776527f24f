// Passphrases: --passphrase-file, else SEALDROP_PASSPHRASE, else a prompt on the terminal. Never echoed or logged.
import { readTextFile } from '../core/files.js';
import { SealdropError } from '../core/errors.js';

export interface PassphraseSource {
  passphraseFile?: string;
}

export async function readPassphrase(
  source: PassphraseSource,
  { confirm = false, prompt: question = 'Passphrase: ' } = {},
): Promise<string> {
  if (source.passphraseFile) {
    // Files made with `echo secret > f` end in a newline that is not part of the passphrase.
    return (await readTextFile(source.passphraseFile, 'passphrase file')).replace(/\r?\n$/, '');
  }
  if (process.env.SEALDROP_PASSPHRASE !== undefined) return process.env.SEALDROP_PASSPHRASE;
  if (!process.stdin.isTTY)
    throw new SealdropError(
      'PASSPHRASE_REQUIRED',
      'a passphrase is needed and there is no terminal to ask on',
    );
  const first = await prompt(question);
  if (confirm && (await prompt('Passphrase again: ')) !== first) {
    throw new SealdropError('USAGE', 'the two passphrases differ', { hint: 'Run the command again.' });
  }
  return first;
}

function prompt(question: string): Promise<string> {
  const stdin = process.stdin;
  // Raw mode first: whatever is typed from now on must not be echoed, even ahead of the prompt.
  stdin.setRawMode(true);
  stdin.resume();
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let answer = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003')
          return finish(
            new SealdropError('INTERRUPTED', 'interrupted at the passphrase prompt', {
              hint: 'Nothing was written.',
            }),
          );
        if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
    };
    stdin.on('data', onData);
  });
}
