/**
 * @augint-billing/adapters-aws: the `CustomerRepo` port on DynamoDB, `UsageSource` and `PlanAdmin` on
 * API Gateway, and the Stripe secrets from Secrets Manager.
 *
 * @since 0.1.0
 */

/** Region, table name and endpoint settings read through `Config`. */
export * as AwsConfig from "./AwsConfig.js"
/** `CustomerRepo` on DynamoDB, and the table it needs. */
export * as DynamoCustomerRepo from "./DynamoCustomerRepo.js"
