/**
 * @augint-billing/adapters-aws: the `CustomerRepo` port on DynamoDB, `UsageSource` and `PlanAdmin` on
 * API Gateway, and the Stripe secrets from Secrets Manager.
 *
 * @since 0.1.0
 */

/** The shared API Gateway client and rate limiter. */
export * as ApiGateway from "./ApiGateway.js"
/** `PlanAdmin` on API Gateway usage plan keys. */
export * as ApiGatewayPlanAdmin from "./ApiGatewayPlanAdmin.js"
/** `UsageSource` on API Gateway `GetUsage`. */
export * as ApiGatewayUsageSource from "./ApiGatewayUsageSource.js"
/** All three AWS ports in one Layer. */
export * as AwsAdapters from "./AwsAdapters.js"
/** Region, table name and endpoint settings read through `Config`. */
export * as AwsConfig from "./AwsConfig.js"
/** `CustomerRepo` on DynamoDB, and the table it needs. */
export * as DynamoCustomerRepo from "./DynamoCustomerRepo.js"
/** The exact IAM actions each adapter's SDK calls need. */
export * as IamActions from "./IamActions.js"
/** The Stripe secrets, from Secrets Manager or the environment. */
export * as Secrets from "./Secrets.js"
