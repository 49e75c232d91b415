import { CustomerPath } from '../../customers/customer.schemas.js';
import { operationsFor } from '../../http/operation.js';
import type { CouponService } from './coupon.service.js';
import {
  AppliedCouponList,
  AppliedCouponObject,
  AppliedCouponPath,
  ApplyCouponBody,
  CustomerCouponsQuery,
  ListAppliedCouponsQuery,
} from './coupon.schemas.js';

const op = operationsFor<{ coupons: CouponService }>();
const tag = 'Coupons';

export const couponOperations = {
  applyCoupon: op({
    method: 'post',
    path: '/v1/applied_coupons',
    tag,
    summary: 'Apply a coupon to a customer',
    description:
      'The coupon discounts the customer\'s subscription invoices as they are created, oldest coupon first. A fixed ' +
      "amount must be in the customer's currency. Emits `applied_coupon.created`.",
    body: ApplyCouponBody,
    bodyExample: { customer_id: 'cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ', coupon_code: 'WELCOME10', percent_off: 10 },
    responses: { 201: { description: 'The applied coupon', schema: AppliedCouponObject } },
    errors: [404, 409],
    handle: ({ coupons }, { write, body }) => coupons.apply(write, body),
  }),
  listAppliedCoupons: op({
    method: 'get',
    path: '/v1/applied_coupons',
    tag,
    summary: 'List applied coupons',
    query: ListAppliedCouponsQuery,
    responses: { 200: { description: 'One page of applied coupons', schema: AppliedCouponList } },
    handle: ({ coupons }, { scope, query }) => coupons.list(scope, query),
  }),
  getAppliedCoupon: op({
    method: 'get',
    path: '/v1/applied_coupons/{id}',
    tag,
    summary: 'Retrieve an applied coupon',
    params: AppliedCouponPath,
    responses: { 200: { description: 'The applied coupon', schema: AppliedCouponObject } },
    errors: [404],
    handle: ({ coupons }, { scope, params }) => coupons.get(scope, params.id),
  }),
  terminateAppliedCoupon: op({
    method: 'delete',
    path: '/v1/applied_coupons/{id}',
    tag,
    summary: 'Terminate an applied coupon',
    description: 'It discounts nothing more. Emits `applied_coupon.terminated`; a terminated coupon is answered as it is.',
    params: AppliedCouponPath,
    responses: { 200: { description: 'The terminated coupon', schema: AppliedCouponObject } },
    errors: [404],
    handle: ({ coupons }, { write, params }) => coupons.terminate(write, params.id),
  }),
  listCustomerCoupons: op({
    method: 'get',
    path: '/v1/customers/{id}/coupons',
    tag,
    summary: "List a customer's applied coupons",
    params: CustomerPath,
    query: CustomerCouponsQuery,
    responses: { 200: { description: 'One page of applied coupons', schema: AppliedCouponList } },
    errors: [404],
    handle: ({ coupons }, { scope, params, query }) => coupons.listForCustomer(scope, params.id, query),
  }),
};
