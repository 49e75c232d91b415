/**
 * How a provider call failed, which decides what may happen next:
 * - `rejected`: the provider answered that it will not deliver this message (a bad address, a 5xx
 *   SMTP reply, a Twilio 4xx): the message is `failed`, retrying would fail the same way;
 * - `not_sent`: the message certainly did not leave (connection refused, a 4xx SMTP reply, Twilio
 *   429): it is retried later, which cannot make a duplicate;
 * - `ambiguous`: the call was cut off after the message may have been accepted (a timeout waiting
 *   for the final reply, a 5xx from Twilio): it is `unknown` and never sent again.
 */
export type DeliveryFailureKind = 'rejected' | 'not_sent' | 'ambiguous';

export class DeliveryError extends Error {
  constructor(
    readonly kind: DeliveryFailureKind,
    message: string,
    /** The recipient told the provider to stop (Twilio 21610, an SMS STOP): record an opt-out. */
    readonly recipientOptedOut = false,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}
