import { operationsFor } from '../http/operation.js';
import type { MerchantService } from './merchant.service.js';
import { SettingsObject, UpdateSettingsBody } from './merchant.schemas.js';

const op = operationsFor<{ merchants: MerchantService }>();
const tag = 'Settings';

/** The merchant's settings of the key's environment: a sandbox key reads and changes the sandbox ones only. */
export const merchantOperations = {
  getSettings: op({
    method: 'get',
    path: '/v1/settings',
    tag,
    summary: "Retrieve the settings of the key's environment",
    responses: { 200: { description: 'The settings', schema: SettingsObject } },
    handle: ({ merchants }, { scope }) => merchants.getSettings(scope),
  }),
  updateSettings: op({
    method: 'patch',
    path: '/v1/settings',
    tag,
    summary: "Update the settings of the key's environment",
    description:
      "Only the fields sent change, and only in the key's environment (a sandbox key never changes what live customers see); " +
      '`notification_email: null` stops notifications.',
    body: UpdateSettingsBody,
    responses: { 200: { description: 'The updated settings', schema: SettingsObject } },
    handle: ({ merchants }, { write, body }) => merchants.updateSettings(write, body, write),
  }),
};
