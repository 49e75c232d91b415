import { Router } from 'express';
import { scopeOf } from '../http/context';
import { PaginationQuery } from '../http/pagination';
import { parseInput } from '../lib/validation';
import type { Services } from '../services';

export function billingRoutes({ billing }: Pick<Services, 'billing'>): Router {
  const router = Router();

  router.get('/customers/:id/payments', async (req, res) => {
    res.json(await billing.customerPayments(scopeOf(res), req.params.id, parseInput(PaginationQuery, req.query)));
  });

  router.get('/customers/:id/invoices', async (req, res) => {
    res.json(await billing.customerInvoices(scopeOf(res), req.params.id, parseInput(PaginationQuery, req.query)));
  });

  return router;
}
