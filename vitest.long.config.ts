import { defineConfig } from 'vitest/config';
import { LONG_TESTS, suite } from './vitest.config.js';

/** `npm run test:long`: the long proofs, and the fuzz test at its full count of requests. */
export default defineConfig({
  test: {
    ...suite,
    include: [...LONG_TESTS, 'test/http/fuzz.test.ts'],
    env: { FUZZ_REQUESTS: process.env.FUZZ_REQUESTS ?? '10000' },
  },
});
