import { MailDev } from 'maildev';
import type { Logger } from '../logger.js';

export interface MailCatcherOptions {
  smtpPort: number;
  webPort: number;
  /** Folder that keeps caught mail across restarts; omitted keeps it in memory. */
  mailDirectory?: string;
  logger: Logger;
}

export interface RunningMailCatcher {
  smtpUrl: string;
  webUrl: string;
  stop(): Promise<void>;
}

/** MailDev: an SMTP server that keeps every message, with a web UI and a REST API to read them. */
export async function startMailCatcher(options: MailCatcherOptions): Promise<RunningMailCatcher> {
  const maildev = new MailDev({
    smtp: options.smtpPort,
    web: options.webPort,
    ip: '127.0.0.1',
    webIp: '127.0.0.1',
    ...(options.mailDirectory ? { mailDirectory: options.mailDirectory } : {}),
    silent: true,
  });
  await maildev.start();
  const smtpUrl = `smtp://127.0.0.1:${options.smtpPort}`;
  const webUrl = `http://localhost:${options.webPort}`;
  options.logger.info({ smtpUrl, webUrl }, 'mail catcher ready');
  return {
    smtpUrl,
    webUrl,
    async stop() {
      await maildev.stop();
      options.logger.info({ smtpUrl }, 'mail catcher stopped');
    },
  };
}
