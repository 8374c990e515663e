/**
 * The exact IAM actions each adapter's SDK calls need, for least-privilege policies (the deployment
 * template and the README's IAM table are checked against these). `commands` lists every SDK command
 * an adapter sends with the actions it is authorised as; a test reads the source and fails when a
 * command is sent that is not listed here, or listed and never sent.
 *
 * @since 0.1.0
 */

/** An SDK command class name and the IAM actions it is authorised as. */
export type Commands = Readonly<Record<string, ReadonlyArray<string>>>

/** The SDK commands each adapter (or operator program) sends, and the IAM actions each needs. */
export const commands = {
  /** `DynamoCustomerRepo.make` / `layer`: the runtime's table access (document-client commands). */
  customerRepo: {
    GetCommand: ["dynamodb:GetItem"],
    PutCommand: ["dynamodb:PutItem"],
    QueryCommand: ["dynamodb:Query"],
    ScanCommand: ["dynamodb:Scan"],
    // TransactWriteItems is authorised per item; the repository's transactions hold Put and Delete
    // items only (conditions on them need no `ConditionCheckItem`).
    TransactWriteCommand: ["dynamodb:PutItem", "dynamodb:DeleteItem"]
  },
  /** `ApiGatewayUsageSource`: `GetUsage`. */
  usageSource: {
    GetUsageCommand: ["apigateway:GET"]
  },
  /** `ApiGatewayPlanAdmin`: read plans, add and remove usage plan keys. */
  planAdmin: {
    GetUsagePlansCommand: ["apigateway:GET"],
    GetUsagePlanCommand: ["apigateway:GET"],
    CreateUsagePlanKeyCommand: ["apigateway:POST"],
    DeleteUsagePlanKeyCommand: ["apigateway:DELETE"]
  },
  /** `Secrets`: Secrets Manager reads (plus `kms:Decrypt` when the secret uses a customer-managed key). */
  secrets: {
    GetSecretValueCommand: ["secretsmanager:GetSecretValue"]
  },
  /** `DynamoCustomerRepo.createTable` (local and development use only). */
  createTable: {
    CreateTableCommand: ["dynamodb:CreateTable"],
    DescribeTableCommand: ["dynamodb:DescribeTable"],
    DescribeTimeToLiveCommand: ["dynamodb:DescribeTimeToLive"],
    UpdateTimeToLiveCommand: ["dynamodb:UpdateTimeToLive"]
  },
  /** `DynamoCustomerRepo.describeTable` (the CLI's `infra status`). */
  describeTable: {
    DescribeTableCommand: ["dynamodb:DescribeTable"],
    DescribeTimeToLiveCommand: ["dynamodb:DescribeTimeToLive"]
  },
  /** `ApiGateway.describeUsagePlan` (the CLI's `infra status`). */
  describeUsagePlan: {
    GetUsagePlanCommand: ["apigateway:GET"]
  }
} as const satisfies Readonly<Record<string, Commands>>

/** The distinct actions of some commands, sorted. */
export const actionsOf = (...groups: ReadonlyArray<Commands>): ReadonlyArray<string> =>
  [...new Set(groups.flatMap((group) => Object.values(group).flat()))].sort()

/** `DynamoCustomerRepo` (the `CustomerRepo` port), on the table and its `bySyncCandidate` index. */
export const customerRepo: ReadonlyArray<string> = actionsOf(commands.customerRepo)

/** `ApiGatewayUsageSource` (the `UsageSource` port), on `/usageplans/<planId>/usage`. */
export const usageSource: ReadonlyArray<string> = actionsOf(commands.usageSource)

/** `ApiGatewayPlanAdmin` (the `PlanAdmin` port), on `/usageplans`, `/usageplans/<planId>` and its `keys`. */
export const planAdmin: ReadonlyArray<string> = actionsOf(commands.planAdmin)

/** `Secrets` (the `StripeSecrets` service), on the secret ARNs. */
export const secrets: ReadonlyArray<string> = actionsOf(commands.secrets)

/** `DynamoCustomerRepo.createTable`, on the table: development only, never granted to a function. */
export const createTable: ReadonlyArray<string> = actionsOf(commands.createTable)

/** `infra status`: `DynamoCustomerRepo.describeTable` on the table, `ApiGateway.describeUsagePlan` on the plans. */
export const infraStatus: ReadonlyArray<string> = actionsOf(commands.describeTable, commands.describeUsagePlan)
