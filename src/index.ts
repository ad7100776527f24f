// sealdrop as a library: the pure parts other tools may want (retention planning, policy files, errors).
export {
  planRetention,
  isEmptyPolicy,
  describePolicy,
  type RetentionItem,
  type RetentionPolicy,
  type RetentionOptions,
  type RetentionPlan,
  type KeptItem,
  type RemovedItem,
} from './core/retention.js';
export { parseRetentionDuration } from './core/units.js';
export { parsePolicyFile, type PolicyFile, type PolicySummary } from './core/policy-file.js';
export { SealdropError, EXIT, type ErrorCode } from './core/errors.js';
