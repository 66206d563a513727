#!/usr/bin/env node
// `pnpm test`: type-check the whole workspace, run every vitest project, then print one closing line
// "Tests: N passed, N failed, N skipped" that any CI log reader understands. Extra arguments go to vitest.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status ?? 1;

console.log('> type check (tsc --noEmit)');
const tscStatus = run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
if (tscStatus !== 0) {
  console.log('Tests: 0 passed, 1 failed (type check failed)');
  process.exit(tscStatus);
}

const report = join(root, '.tmp', 'vitest-report.json');
mkdirSync(dirname(report), { recursive: true });
rmSync(report, { force: true });
const status = run(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)]);

let summary = 'Tests: 0 passed, 1 failed (vitest wrote no report)';
let reportOk = false;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  if (r.numTotalTests === 0) {
    summary = 'Tests: 0 passed, 1 failed (no test ran)';
  } else {
    summary = `Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped > 0 ? `, ${skipped} skipped` : '');
    reportOk = r.numFailedTests === 0;
  }
} catch {
  // The failure summary above stands.
}
console.log(summary);
process.exit(status !== 0 ? status : reportOk ? 0 : 1);
