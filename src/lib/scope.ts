import type { Environment } from '../generated/prisma/enums';

/** What an API key may see: one merchant's data in one environment. */
export interface Scope {
  merchantId: string;
  environment: Environment;
}
