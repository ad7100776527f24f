// The agent's executable as a CommonJS entry: the single executable application runs this, bundled
// (scripts/build-agent.mjs). The same start as sealdrop's, so the threadpool is sized for every core.
import { prepareProcess } from './start.cjs';

prepareProcess();
void import('./agent-main.js');
