import { Router, type Response } from 'express';
import type { MessageService } from './message.service.js';
import { escapeHtml } from './templates.js';

function page(res: Response, status: number, title: string, body: string): void {
  // The token is in the URL: keep it out of caches, referrers and search engines.
  res.set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'X-Robots-Tag': 'noindex' });
  res
    .status(status)
    .type('html')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
        `<title>${title}</title></head><body style="font-family:Helvetica,Arial,sans-serif;max-width:480px;margin:48px auto">` +
        `<h1 style="font-size:20px">${title}</h1>${body}</body></html>`,
    );
}

const INVALID = '<p>This unsubscribe link is not valid. Use the link from the latest message you received.</p>';

/**
 * The unsubscribe link of marketing messages, public like the link itself. GET shows a page with a
 * button (link scanners follow GETs, so a GET changes nothing); POST opts out, both from that
 * button and as RFC 8058 one-click from the mail client (`List-Unsubscribe-Post`), and answers 200.
 */
export function unsubscribePage(messages: Pick<MessageService, 'unsubscribe' | 'checkUnsubscribeToken'>): Router {
  const router = Router();
  router.get('/unsubscribe/:token', async (req, res) => {
    const target = await messages.checkUnsubscribeToken(req.params.token);
    if (!target) return page(res, 404, 'Link not valid', INVALID);
    page(
      res,
      200,
      'Unsubscribe',
      `<p>Stop receiving marketing ${target.channel === 'email' ? 'emails' : 'text messages'} from ${target.merchantName ? escapeHtml(target.merchantName) : 'us'}?</p>` +
        `<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
    );
  });
  router.post('/unsubscribe/:token', async (req, res) => {
    const done = await messages.unsubscribe(req.params.token);
    if (!done) return page(res, 404, 'Link not valid', INVALID);
    page(
      res,
      200,
      'You are unsubscribed',
      `<p>You will not receive marketing ${done.channel === 'email' ? 'emails' : 'text messages'} from us any more. ` +
        'Receipts and other messages about your account still reach you.</p>',
    );
  });
  return router;
}
