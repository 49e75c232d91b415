/** Where services read the time, so a test can run them at another moment (a send window's edge). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
