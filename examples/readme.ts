import { setTimeout as sleep } from 'node:timers/promises';
import { Supervisor } from 'supervise';

await using sup = new Supervisor();                 // SIGINT/SIGTERM start an ordered shutdown
sup.defer(() => console.log('3. resources close last, newest first'));
sup.spawn(async (signal) => {
  try { await sleep(60_000, undefined, { signal }); }
  finally { console.log('2. every task sees its signal abort'); }
});
console.log('1. running; press Ctrl-C');
const report = await sup.done;                      // resolves once shutdown has finished
console.log(`4. stopped by ${report.signal}, exit code ${report.exitCode}`);
