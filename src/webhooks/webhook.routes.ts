import { Router } from 'express';
import { scopeOf } from '../http/context';
import { PaginationQuery } from '../http/pagination';
import { parseInput } from '../lib/validation';
import type { Services } from '../services';
import { CreateWebhookEndpointBody } from './webhook.schemas';

export function webhookRoutes({ webhooks }: Pick<Services, 'webhooks'>): Router {
  const router = Router();

  router.post('/webhook_endpoints', async (req, res) => {
    const body = parseInput(CreateWebhookEndpointBody, req.body ?? {});
    res.status(201).json(await webhooks.createEndpoint(scopeOf(res), body));
  });

  router.get('/webhook_endpoints', async (req, res) => {
    res.json(await webhooks.listEndpoints(scopeOf(res), parseInput(PaginationQuery, req.query)));
  });

  router.get('/webhook_endpoints/:id', async (req, res) => {
    res.json(await webhooks.getEndpoint(scopeOf(res), req.params.id));
  });

  router.delete('/webhook_endpoints/:id', async (req, res) => {
    res.json(await webhooks.deleteEndpoint(scopeOf(res), req.params.id));
  });

  router.get('/webhook_endpoints/:id/deliveries', async (req, res) => {
    res.json(await webhooks.listDeliveries(scopeOf(res), req.params.id, parseInput(PaginationQuery, req.query)));
  });

  return router;
}
