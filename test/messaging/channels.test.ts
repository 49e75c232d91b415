import { describe, expect, it } from 'vitest';
import { classifySmtpError, messageIdFor } from '../../src/messaging/mailer.js';
import { smsSize } from '../../src/messaging/sms-segments.js';
import { compileTemplate, htmlToText, OutputLimitError, renderTemplate, TemplateSyntaxError } from '../../src/messaging/templates.js';
import { unsubscribeToken, verifyUnsubscribeToken } from '../../src/messaging/unsubscribe-token.js';
import { formatDateTime, formatMoney } from '../../src/messaging/transactional.js';

const SECRET = 'a-test-secret-of-enough-length';
const CUSTOMER = 'cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ';
const LIMITS = { maxChars: 100_000, renderMs: 1_000 };

describe('message channels', () => {
  it('counts SMS segments as carriers do: GSM-7 160/153, extension characters twice, UCS-2 70/67', () => {
    expect(smsSize('a'.repeat(160))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(smsSize('a'.repeat(161))).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(smsSize('a'.repeat(306)).segments).toBe(2);
    expect(smsSize('a'.repeat(307)).segments).toBe(3);
    expect(smsSize('€'.repeat(80))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(smsSize('é'.repeat(160)).encoding).toBe('GSM-7');
    expect(smsSize('ł'.repeat(70))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(smsSize(`${'a'.repeat(70)}😀`)).toEqual({ encoding: 'UCS-2', units: 72, segments: 2 });
  });

  it('signs unsubscribe links per customer and channel; an altered or foreign link is refused', () => {
    const token = unsubscribeToken({ customerId: CUSTOMER, channel: 'email' }, SECRET);
    expect(verifyUnsubscribeToken(token, [SECRET])).toEqual({ customerId: CUSTOMER, channel: 'email' });
    expect(verifyUnsubscribeToken(token.replace('.email.', '.sms.'), [SECRET])).toBeUndefined();
    expect(verifyUnsubscribeToken(token.replace('XYZ', 'XYY'), [SECRET])).toBeUndefined();
    expect(verifyUnsubscribeToken(token, ['another-secret-of-enough-length'])).toBeUndefined();
    expect(verifyUnsubscribeToken('garbage', [SECRET])).toBeUndefined();
    // After a key rotation (a new key first), links signed with the old key still work.
    expect(verifyUnsubscribeToken(token, ['a-new-secret-of-enough-length', SECRET])).toEqual({ customerId: CUSTOMER, channel: 'email' });
  });

  it('refuses a template that does not parse with its line and column, and any file access', () => {
    const failure = (source: string) => {
      try {
        compileTemplate(source, 'plain');
      } catch (error) {
        return error as TemplateSyntaxError;
      }
      throw new Error('parsed');
    };
    expect(failure('Hello\n{{ customer.name | upcase }')).toMatchObject({ line: 2, column: 1 });
    expect(failure('{% if customer.name %}never closed')).toBeInstanceOf(TemplateSyntaxError);
    expect(failure('{{ customer.name | no_such_filter }}').message).toMatch(/^line 1, column 1: undefined filter: no_such_filter/);
    expect(failure("{% include '/etc/passwd' %}").message).toMatch(/include %\} is not available/);
    expect(failure("{% render 'package.json' %}").message).toMatch(/render %\} is not available/);
  });

  it('escapes customer data in HTML parts, not in text parts', () => {
    const context = { customer: { name: '<b>Ada</b> & co' } };
    expect(renderTemplate(compileTemplate('Hi {{ customer.name }}', 'html'), context, LIMITS)).toBe('Hi &lt;b&gt;Ada&lt;/b&gt; &amp; co');
    expect(renderTemplate(compileTemplate('Hi {{ customer.name }}', 'plain'), context, LIMITS)).toBe('Hi <b>Ada</b> & co');
  });

  it('derives a readable text part from HTML: paragraphs, line breaks, links with their address, no markup', () => {
    const html =
      '<!doctype html><html><head><title>T</title><style>p { color: red }</style></head><body><h1>Welcome, Ada</h1>' +
      '<p>Hi &amp; <b>welcome</b> &lt;3</p><p>Line one<br>line two</p><ul><li>first</li><li>second</li></ul>' +
      '<img src="https://track.example/pixel.gif"><p><a href="https://x.test/u?a=1&amp;b=2">Unsubscribe</a></p></body></html>';
    expect(htmlToText(html)).toBe('Welcome, Ada\n\nHi & welcome <3\n\nLine one\nline two\n\n * first\n * second\n\nUnsubscribe [https://x.test/u?a=1&b=2]');
    // Unclosed and deeply nested markup (a loop of "<a " or "<div>") converts without failing;
    // below 200 levels the text is left out.
    expect(htmlToText('<a '.repeat(70_000))).toBe('');
    expect(htmlToText(`${'<div>'.repeat(50_000)}deep`)).toBe('...');
    expect(htmlToText(`${'<div>'.repeat(150)}shallow`)).toBe('shallow');
  });

  it('stops a render whose output grows past its limit, whatever builds it', () => {
    const over = (source: string, format: 'plain' | 'html') => () =>
      renderTemplate(compileTemplate(source, format), { customer: { name: 'Ada' } }, { maxChars: 1_000, renderMs: 10_000 });
    expect(over('{% for i in (1..70000) %}<a {% endfor %}', 'html')).toThrow(OutputLimitError);
    expect(over('{% for i in (1..1000) %}{{ customer.name }}{% endfor %}', 'plain')).toThrow(OutputLimitError);
    expect(over('{% for i in (1..100) %}{% for j in (1..100) %}x{% endfor %}{% endfor %}', 'plain')).toThrow(OutputLimitError);
    expect(over('{% for i in (1..300) %}{{ customer.name }}{% endfor %}', 'plain')()).toHaveLength(900);
  });

  it('derives a stable Message-ID from the idempotency key, in the sender\'s domain', () => {
    const from = 'Shop <no-reply@shop.example>';
    expect(messageIdFor('sequence:a:b:0', from)).toBe(messageIdFor('sequence:a:b:0', from));
    expect(messageIdFor('sequence:a:b:0', from)).not.toBe(messageIdFor('sequence:a:b:1', from));
    expect(messageIdFor('k', from)).toMatch(/^<[A-Za-z0-9]{32}@shop\.example>$/);
  });

  it('tells an SMTP failure that certainly did not send from one that may have', () => {
    expect(classifySmtpError({ code: 'EENVELOPE', responseCode: 550, permanent: true, message: '550 no such user' }).kind).toBe('rejected');
    expect(classifySmtpError({ code: 'EMESSAGE', responseCode: 451, permanent: false, message: '451 try later' }).kind).toBe('not_sent');
    expect(classifySmtpError({ code: 'ESOCKET', originalCode: 'ECONNREFUSED', message: 'refused' }).kind).toBe('not_sent');
    expect(classifySmtpError({ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT', message: 'no greeting' }).kind).toBe('not_sent');
    expect(classifySmtpError({ code: 'EAUTH', responseCode: 535, permanent: true, message: 'bad login' }).kind).toBe('not_sent');
    // No reply after the data went out: it may have been accepted.
    expect(classifySmtpError({ code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', message: 'Timeout' }).kind).toBe('ambiguous');
    expect(classifySmtpError({ code: 'ECONNECTION', message: 'Connection closed unexpectedly' }).kind).toBe('ambiguous');
  });

  it('formats money exactly in its currency and dates in the reader\'s zone', () => {
    // Intl separates with (narrow) no-break spaces.
    const plain = (text: string) => text.replace(/\s/g, ' ');
    expect(formatMoney(1250, 'EUR')).toBe('€12.50');
    expect(formatMoney(1200, 'JPY')).toBe('¥1,200');
    expect(plain(formatMoney(1234, 'BHD'))).toBe('BHD 1.234');
    expect(formatMoney(9007199254740991, 'USD')).toBe('$90,071,992,547,409.91');
    expect(plain(formatDateTime('2026-11-27T23:30:00Z', 'Asia/Tokyo'))).toBe('November 28, 2026 at 8:30 AM GMT+9');
  });
});
