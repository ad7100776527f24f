// Minting is offline: fake static credentials and an endpoint nobody listens on are enough.
import { beforeEach } from 'vitest';

const FAKE_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE00',
  AWS_SECRET_ACCESS_KEY: 'example-secret-not-real',
  AWS_REGION: 'eu-west-1',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
};

/** Before each test of the file: the fake credentials in process.env, and no session token. */
export function useOfflineAws(): void {
  beforeEach(() => {
    for (const [name, value] of Object.entries(FAKE_ENV)) process.env[name] = value;
    delete process.env.AWS_SESSION_TOKEN;
  });
}
