/**
 * @augint-billing/adapters-aws: the `CustomerRepo` port on DynamoDB, `UsageSource` and `PlanAdmin` on
 * API Gateway, and the Stripe secrets from Secrets Manager.
 *
 * @since 0.1.0
 */

/**
 * The shared API Gateway client and rate limiter.
 *
 * @since 0.1.0
 * @category modules
 */
export * as ApiGateway from "./ApiGateway.js"
/**
 * `PlanAdmin` on API Gateway usage plan keys.
 *
 * @since 0.1.0
 * @category modules
 */
export * as ApiGatewayPlanAdmin from "./ApiGatewayPlanAdmin.js"
/**
 * `UsageSource` on API Gateway `GetUsage`.
 *
 * @since 0.1.0
 * @category modules
 */
export * as ApiGatewayUsageSource from "./ApiGatewayUsageSource.js"
/**
 * All three AWS ports in one Layer.
 *
 * @since 0.1.0
 * @category modules
 */
export * as AwsAdapters from "./AwsAdapters.js"
/**
 * Region, table name and endpoint settings read through `Config`.
 *
 * @since 0.1.0
 * @category modules
 */
export * as AwsConfig from "./AwsConfig.js"
/**
 * `CustomerRepo` on DynamoDB.
 *
 * @since 0.1.0
 * @category modules
 */
export * as DynamoCustomerRepo from "./DynamoCustomerRepo.js"
/**
 * The customer table: its layout, `createTable` and `describeTable`.
 *
 * @since 0.2.0
 * @category modules
 */
export * as DynamoTable from "./DynamoTable.js"
/**
 * The `AlertSink` port on EventBridge: spend alerts as events.
 *
 * @since 0.2.0
 * @category modules
 */
export * as EventBridgeAlertSink from "./EventBridgeAlertSink.js"
/**
 * The exact IAM actions each adapter's SDK calls need.
 *
 * @since 0.1.0
 * @category modules
 */
export * as IamActions from "./IamActions.js"
/**
 * The Stripe secrets, from Secrets Manager or the environment.
 *
 * @since 0.1.0
 * @category modules
 */
export * as Secrets from "./Secrets.js"
/**
 * The fanned-out sync's work queue on SQS.
 *
 * @since 0.3.0
 * @category modules
 */
export * as SqsWorkQueue from "./SqsWorkQueue.js"
