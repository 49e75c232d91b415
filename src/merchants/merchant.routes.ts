import { operationsFor } from '../http/operation.js';
import type { MerchantService } from './merchant.service.js';
import { SettingsObject, UpdateSettingsBody } from './merchant.schemas.js';

const op = operationsFor<{ merchants: MerchantService }>();
const tag = 'Settings';

/** The merchant's own settings; both of its keys (sandbox and live) see and change the same ones. */
export const merchantOperations = {
  getSettings: op({
    method: 'get',
    path: '/v1/settings',
    tag,
    summary: "Retrieve your account's settings",
    responses: { 200: { description: 'The settings', schema: SettingsObject } },
    handle: ({ merchants }, { scope }) => merchants.getSettings(scope.merchantId),
  }),
  updateSettings: op({
    method: 'patch',
    path: '/v1/settings',
    tag,
    summary: "Update your account's settings",
    description: 'Only the fields sent change; `notification_email: null` stops notifications.',
    body: UpdateSettingsBody,
    responses: { 200: { description: 'The updated settings', schema: SettingsObject } },
    handle: ({ merchants }, { write, body }) => merchants.updateSettings(write.merchantId, body, write),
  }),
};
