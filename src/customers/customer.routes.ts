import { Router } from 'express';
import { parseInput } from '../lib/validation';
import { scopeOf } from '../http/context';
import type { Services } from '../services';
import {
  AddTagsBody,
  BatchUpsertBody,
  CreateCustomerBody,
  ExternalPathParams,
  GetCustomerQuery,
  ListCustomersQuery,
  Tag,
  UpdateCustomerBody,
  UpsertCustomerBody,
} from './customer.schemas';

export function customerRoutes({ customers, deletions }: Pick<Services, 'customers' | 'deletions'>): Router {
  const router = Router();

  router.post('/customers', async (req, res) => {
    const body = parseInput(CreateCustomerBody, req.body ?? {});
    res.status(201).json(await customers.create(scopeOf(res), body));
  });

  router.get('/customers', async (req, res) => {
    res.json(await customers.list(scopeOf(res), parseInput(ListCustomersQuery, req.query)));
  });

  // Registered before /customers/:id so "external" is never taken for an id.
  router.put('/customers/external/batch', async (req, res) => {
    const { items } = parseInput(BatchUpsertBody, req.body ?? {});
    const results = await customers.batchUpsert(scopeOf(res), items);
    const count = (status: string) => results.filter((result) => result.status === status).length;
    res.json({
      object: 'batch_result',
      created: count('created'),
      updated: count('updated'),
      failed: count('error'),
      results,
    });
  });

  router.put('/customers/external/:source/:external_id', async (req, res) => {
    const params = parseInput(ExternalPathParams, req.params);
    const body = parseInput(UpsertCustomerBody, req.body ?? {});
    const outcome = await customers.upsertByExternalId(scopeOf(res), params.source, params.external_id, body);
    res.status(outcome.created ? 201 : 200).json(outcome);
  });

  router.get('/customers/:id', async (req, res) => {
    const { expand } = parseInput(GetCustomerQuery, req.query);
    res.json(await customers.get(scopeOf(res), req.params.id, { expandStats: expand.includes('stats') }));
  });

  router.patch('/customers/:id', async (req, res) => {
    const body = parseInput(UpdateCustomerBody, req.body ?? {});
    res.json(await customers.update(scopeOf(res), req.params.id, body));
  });

  router.post('/customers/:id/tags', async (req, res) => {
    const { tags } = parseInput(AddTagsBody, req.body ?? {});
    res.json(await customers.addTags(scopeOf(res), req.params.id, tags));
  });

  router.delete('/customers/:id/tags/:tag', async (req, res) => {
    const tag = parseInput(Tag, req.params.tag, 'tag');
    res.json(await customers.removeTag(scopeOf(res), req.params.id, tag));
  });

  router.delete('/customers/:id', async (req, res) => {
    res.status(202).json(await deletions.request(scopeOf(res), req.params.id));
  });

  router.get('/customers/:id/deletion', async (req, res) => {
    res.json(await deletions.get(scopeOf(res), req.params.id));
  });

  return router;
}
