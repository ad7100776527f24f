import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The layers: cli -> agent | admin -> core. A layer imports only the ones below it; the agent path
 * (agent and core) never loads the AWS SDK, so servers run without AWS credentials or code for them.
 */
function layer(name, below, { awsSdk }) {
  const above = ['cli', 'agent', 'admin', 'core'].filter((other) => other !== name && !below.includes(other));
  return {
    files: [`src/${name}/**`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...above.map((other) => ({
              group: [`**/${other}/*`],
              message: `${name} must not import ${other}: cli -> agent | admin -> core`,
            })),
            ...(awsSdk ? [] : [{ group: ['@aws-sdk/*'], message: `${name} must not import the AWS SDK` }]),
          ],
        },
      ],
    },
  };
}

/**
 * The admin side's rooms: S3 access and OpenPGP reading below, backup sets on them, the commands' logic
 * (backups: restore, verify, status, prune, report; policies: mint, renew, setup, fleet) on top.
 */
function room(name, below) {
  const rooms = ['s3', 'openpgp', 'sets', 'backups', 'policies'];
  const above = rooms.filter((other) => other !== name && !below.includes(other));
  return {
    files: [`src/admin/${name}/**`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...['cli', 'agent'].map((other) => ({
              group: [`**/${other}/*`],
              message: `admin must not import ${other}: cli -> agent | admin -> core`,
            })),
            ...above.map((other) => ({
              group: [`../${other}/*`],
              message: `admin/${name} must not import admin/${other}: s3 | openpgp -> sets -> backups | policies`,
            })),
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: globals.node } },
  { rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }] } },
  layer('core', [], { awsSdk: false }),
  layer('agent', ['core'], { awsSdk: false }),
  layer('admin', ['core'], { awsSdk: true }),
  room('s3', []),
  room('openpgp', []),
  room('sets', ['s3', 'openpgp']),
  room('backups', ['s3', 'openpgp', 'sets']),
  room('policies', ['s3']),
);
