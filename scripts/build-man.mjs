#!/usr/bin/env node
// Writes the man pages from the built command trees (run by `npm run build`, after tsc):
//   dist/man/sealdrop.1         installed by npm (package.json "man")
//   dist/man/sealdrop-agent.1   installed by the Debian package (scripts/build-deb)
import { mkdir, writeFile } from 'node:fs/promises';
import { AGENT_NAME, agentHelp, buildAgentProgram } from '../dist/cli/agent-program.js';
import { manPage } from '../dist/cli/manpage.js';
import { buildProgram } from '../dist/cli/program.js';
import { version } from '../dist/cli/version.js';

const environment = `SEALDROP_PASSPHRASE
  the passphrase of a private key (else --passphrase-file, else a prompt on the terminal)
AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, ...
  the admin's credentials, from the standard AWS chain (push reads none)
AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL
  the S3 endpoint when --endpoint is not given
UV_THREADPOOL_SIZE
  push compresses on this many threads less one (default: one per core, plus one)`;

const agentFiles = `/etc/sealdrop/NAME.policy.json
  the policy file of backup NAME (mode 0600), from \`sealdrop policy mint\` on the admin's machine
/etc/sealdrop/NAME.dump
  the executable whose standard output is backup NAME's dump (run by sealdrop-backup@NAME.service)
/var/spool/sealdrop
  where push spools the encrypted dump before the upload (mode 0700)
/lib/systemd/system/sealdrop-backup@.service, sealdrop-backup@.timer
  one instance per backup: systemctl enable --now sealdrop-backup@NAME.timer`;

const pages = {
  'sealdrop.1': manPage(buildProgram(), {
    version,
    sections: { ENVIRONMENT: environment },
    seeAlso: [`${AGENT_NAME}(1)`, 'gpg(1)'],
  }),
  [`${AGENT_NAME}.1`]: manPage(buildAgentProgram(), {
    version,
    helpText: agentHelp,
    sections: { FILES: agentFiles, ENVIRONMENT: environment.split('\n').slice(-2).join('\n') },
    seeAlso: ['sealdrop(1)', 'systemd.timer(5)'],
  }),
};

const dir = new URL('../dist/man/', import.meta.url);
await mkdir(dir, { recursive: true });
for (const [file, text] of Object.entries(pages)) await writeFile(new URL(file, dir), text);
