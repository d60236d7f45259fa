// Runs one job on a cron expression in this process until SIGINT/SIGTERM (`npm run sync --
// --schedule`, for Keap and for table syncs): a tick that finds the previous run still going is
// skipped (the database's one-run-per-pipeline rule holds across processes anyway), and a signal
// stops the ticking and waits for the run in progress to end (it ends cancelled on the signal).
import cron from 'node-cron';
import { EXIT } from './errors.ts';

export async function runOnCron(schedule: string, variable: string, label: string, job: () => Promise<void>): Promise<number> {
  if (!cron.validate(schedule)) {
    throw Object.assign(new Error(`${variable} / --schedule is not a valid cron expression: '${schedule}'`), { exitCode: EXIT.CONFIG });
  }
  console.log(`scheduled: ${label} on '${schedule}' (Ctrl-C to stop)`);
  let busy = false;
  const task = cron.schedule(schedule, async () => {
    if (busy) {
      console.log('previous run still running; this tick is skipped');
      return;
    }
    busy = true;
    try {
      await job();
    } finally {
      busy = false;
    }
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      void task.stop();
      const wait = () => (busy ? setTimeout(wait, 100) : resolve());
      wait();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return EXIT.OK;
}
