// A worker process that dies (SIGKILL) right after its SMTP server accepted a message, before the
// activity could record it: the crash the message row's `sending` state is there for. Run by
// test/workflows/sequence-delivery.test.ts with the suite's environment and its own task queue.
import { createActivities } from '../../activities/index.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db.js';
import { createLogger } from '../../src/logger.js';
import { createMailer, type Mailer } from '../../src/messaging/mailer.js';
import { createServices } from '../../src/services.js';
import { connectClient, createWorker } from '../../src/temporal/temporal.js';

const config = loadConfig(process.env);
const logger = createLogger('error', 'crashing-worker');
const database = createDatabase(config.DATABASE_URL, 4);
const temporal = await connectClient({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE });
const smtp = createMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM });
const mailer: Mailer = {
  async send(email) {
    const sent = await smtp.send(email);
    process.kill(process.pid, 'SIGKILL');
    return sent;
  },
  close: () => smtp.close(),
};
const services = createServices({ db: database.db, pool: database.pool, temporal, config, logger, mailer });
const { worker } = await createWorker({
  address: config.TEMPORAL_ADDRESS,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: config.TEMPORAL_TASK_QUEUE,
  activities: createActivities(services),
  logger,
});
process.send?.('ready');
await worker.run();
