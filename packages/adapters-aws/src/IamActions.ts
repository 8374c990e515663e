/**
 * The exact IAM actions each adapter's SDK calls need, for least-privilege policies (the deployment
 * template and the README's IAM table are checked against these). `commands` lists every SDK command
 * an adapter sends with the actions it is authorised as; a test reads the source and fails when a
 * command is sent that is not listed here, or listed and never sent. `methods` maps each port method
 * to the actions it needs, and `webhook`, `schedule` and `operator` are the sets of each deployed
 * function and of the operators' CLI, derived from the port methods their flows call.
 *
 * @since 0.1.0
 */
import type { CustomerRepo, PlanAdmin, UsageSource } from "@augint-billing/core"

/** An SDK command class name and the IAM actions it is authorised as. @since 0.1.0 @category models */
export type Commands = Readonly<Record<string, ReadonlyArray<string>>>

/** The SDK commands each adapter (or operator program) sends, and the IAM actions each needs. @since 0.1.0 @category models */
export const commands = {
  /** `DynamoCustomerRepo.make` / `layer`: the runtime's table access (document-client commands). */
  customerRepo: {
    BatchGetCommand: ["dynamodb:BatchGetItem"],
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
    GetUsagePlanKeysCommand: ["apigateway:GET"],
    CreateUsagePlanKeyCommand: ["apigateway:POST"],
    DeleteUsagePlanKeyCommand: ["apigateway:DELETE"]
  },
  /** `SqsWorkQueue`: the fanned-out sync's coordinator sends work items (`SendMessageBatch` is authorised as `SendMessage`). */
  workQueue: {
    SendMessageBatchCommand: ["sqs:SendMessage"]
  },
  /** `EventBridgeAlertSink`: spend alerts put on the seller's bus. */
  alertSink: {
    PutEventsCommand: ["events:PutEvents"]
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

/** The distinct actions of some commands, sorted. @since 0.1.0 @category utils */
export const actionsOf = (...groups: ReadonlyArray<Commands>): ReadonlyArray<string> =>
  [...new Set(groups.flatMap((group) => Object.values(group).flat()))].sort()

/** `DynamoCustomerRepo` (the `CustomerRepo` port), on the table and its `bySyncCandidate` index. @since 0.1.0 @category models */
export const customerRepo: ReadonlyArray<string> = actionsOf(commands.customerRepo)

/** `ApiGatewayUsageSource` (the `UsageSource` port), on `/usageplans/<planId>/usage`. @since 0.1.0 @category models */
export const usageSource: ReadonlyArray<string> = actionsOf(commands.usageSource)

/** `ApiGatewayPlanAdmin` (the `PlanAdmin` port), on `/usageplans`, `/usageplans/<planId>` and its `keys`. @since 0.1.0 @category models */
export const planAdmin: ReadonlyArray<string> = actionsOf(commands.planAdmin)

/** `SqsWorkQueue` (the fan-out's coordinator), on the work queue. @since 0.3.0 @category models */
export const workQueue: ReadonlyArray<string> = actionsOf(commands.workQueue)

/** `Secrets` (the `StripeSecrets` service), on the secret ARNs. @since 0.1.0 @category models */
export const secrets: ReadonlyArray<string> = actionsOf(commands.secrets)

/** `EventBridgeAlertSink` (the `AlertSink` port), on the alert bus. @since 0.2.0 @category models */
export const alertSink: ReadonlyArray<string> = actionsOf(commands.alertSink)

/** `DynamoCustomerRepo.createTable`, on the table: development only, never granted to a function. @since 0.1.0 @category models */
export const createTable: ReadonlyArray<string> = actionsOf(commands.createTable)

/** `infra status`: `DynamoCustomerRepo.describeTable` on the table, `ApiGateway.describeUsagePlan` on the plans. @since 0.1.0 @category models */
export const infraStatus: ReadonlyArray<string> = actionsOf(commands.describeTable, commands.describeUsagePlan)

/**
 * A port method, named `Port.method` as the testkit's call counters name it; derived from the ports,
 * so `methods` must list every method a port gains.
 * @since 0.2.0 @category models
 */
export type PortMethod =
  | `CustomerRepo.${keyof CustomerRepo.CustomerRepoService & string}`
  | `UsageSource.${keyof UsageSource.UsageSourceService & string}`
  | `PlanAdmin.${keyof PlanAdmin.PlanAdminService & string}`

/**
 * The actions each port method needs through this package's adapters (checked against the commands
 * each method sends). `CustomerRepo.update` is one conditional `PutItem`; only an update that moves
 * the record to another API key (which no Lambda flow does) adds a transaction deleting the old claim.
 *
 * @since 0.2.0
 * @category models
 */
export const methods: Readonly<Record<PortMethod, ReadonlyArray<string>>> = {
  "CustomerRepo.get": ["dynamodb:GetItem"],
  "CustomerRepo.getMany": ["dynamodb:BatchGetItem"],
  "CustomerRepo.findByApiKey": ["dynamodb:GetItem"],
  "CustomerRepo.create": ["dynamodb:PutItem"],
  "CustomerRepo.update": ["dynamodb:PutItem"],
  "CustomerRepo.remove": ["dynamodb:DeleteItem"],
  "CustomerRepo.listSyncCandidates": ["dynamodb:Query"],
  "CustomerRepo.list": ["dynamodb:Scan"],
  "CustomerRepo.isProcessed": ["dynamodb:GetItem"],
  "CustomerRepo.markProcessed": ["dynamodb:PutItem"],
  "UsageSource.getUsagePage": ["apigateway:GET"],
  "PlanAdmin.plansOf": ["apigateway:GET"],
  "PlanAdmin.addKey": ["apigateway:GET", "apigateway:POST"],
  "PlanAdmin.removeKey": ["apigateway:GET", "apigateway:DELETE"],
  "PlanAdmin.keysPage": ["apigateway:GET"]
}

/**
 * The port methods `handleEvent` (the webhook) calls: records and event markers, key moves, the
 * usage flush of a plan change. Never a scan, a delete or the candidate index.
 *
 * @since 0.2.0
 * @category models
 */
export const webhookMethods: ReadonlyArray<PortMethod> = [
  "CustomerRepo.get",
  "CustomerRepo.isProcessed",
  "CustomerRepo.markProcessed",
  "CustomerRepo.update",
  "PlanAdmin.plansOf",
  "PlanAdmin.addKey",
  "PlanAdmin.removeKey",
  "UsageSource.getUsagePage"
]

/**
 * The port methods `syncUsage` (the schedule) calls: the candidate index, records, GetUsage, the
 * metered plan's keys, and the key moves that repair a candidate whose key is in the wrong plan.
 *
 * @since 0.2.0
 * @category models
 */
export const scheduleMethods: ReadonlyArray<PortMethod> = [
  "CustomerRepo.listSyncCandidates",
  "CustomerRepo.get",
  "CustomerRepo.update",
  "UsageSource.getUsagePage",
  "PlanAdmin.keysPage",
  "PlanAdmin.plansOf",
  "PlanAdmin.addKey",
  "PlanAdmin.removeKey"
]

/**
 * The port methods the fanned-out sync's coordinator (`FanOut.plan`) calls: the candidate index,
 * GetUsage and the metered plan's keys, read once per run. No record read or write, no key move.
 *
 * @since 0.3.0
 * @category models
 */
export const coordinatorMethods: ReadonlyArray<PortMethod> = [
  "CustomerRepo.listSyncCandidates",
  "UsageSource.getUsagePage",
  "PlanAdmin.keysPage"
]

/**
 * The port methods the fanned-out sync's worker (`FanOut.work`) calls: the item's records in one batch
 * read, each customer's record again where its sync re-reads it, and
 * the key moves that repair a candidate in the wrong plan, which read that one key's usage before it
 * leaves or rejoins the metered plan (`KeyMove.moveCustomerKey`). No candidate index or key list (the
 * work item carries those).
 *
 * @since 0.3.0
 * @category models
 */
export const workerMethods: ReadonlyArray<PortMethod> = [
  "CustomerRepo.get",
  "CustomerRepo.getMany",
  "CustomerRepo.update",
  "UsageSource.getUsagePage",
  "PlanAdmin.plansOf",
  "PlanAdmin.addKey",
  "PlanAdmin.removeKey"
]

/**
 * The port methods the usage endpoint (`CustomerUsage`, `CardLink`) calls: reads of one record, by id
 * or by API key, and one key's GetUsage. No write of any kind.
 *
 * @since 0.2.0
 * @category models
 */
export const usageMethods: ReadonlyArray<PortMethod> = [
  "CustomerRepo.get",
  "CustomerRepo.findByApiKey",
  "UsageSource.getUsagePage"
]

/** The distinct actions of some port methods, sorted. */
const actionsOfMethods = (names: ReadonlyArray<PortMethod>): ReadonlyArray<string> =>
  [...new Set(names.flatMap((name) => methods[name]))].sort()

/**
 * The webhook function's actions: its port methods and `GetSecretValue` (key and signing secret).
 *
 * @since 0.2.0
 * @category models
 */
export const webhook: ReadonlyArray<string> = [...actionsOfMethods(webhookMethods), ...secrets].sort()

/**
 * The schedule function's actions: its port methods, `GetSecretValue` (the key only) and `PutEvents` (spend alerts).
 *
 * @since 0.2.0
 * @category models
 */
export const schedule: ReadonlyArray<string> = [...actionsOfMethods(scheduleMethods), ...secrets, ...alertSink].sort()

/**
 * The coordinator function's actions: its port methods and `SendMessage` on the work queue (it never
 * calls Stripe, so it reads no secret).
 *
 * @since 0.3.0
 * @category models
 */
export const coordinator: ReadonlyArray<string> = [...actionsOfMethods(coordinatorMethods), ...workQueue].sort()

/**
 * What the Lambda service needs in the worker's execution role to poll the work queue for its event
 * source mapping (docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html, "Execution role
 * permissions"); the worker's code sends no SQS command itself.
 *
 * @since 0.3.0
 * @category models
 */
export const workQueuePoll: ReadonlyArray<string> = [
  "sqs:DeleteMessage",
  "sqs:GetQueueAttributes",
  "sqs:ReceiveMessage"
]

/**
 * The worker function's actions: its port methods, `GetSecretValue` (the key), `PutEvents` (spend
 * alerts, raised by the customers' syncs as in the schedule) and `workQueuePoll`.
 *
 * @since 0.3.0
 * @category models
 */
export const worker: ReadonlyArray<string> = [
  ...actionsOfMethods(workerMethods),
  ...secrets,
  ...alertSink,
  ...workQueuePoll
].sort()

/**
 * The usage endpoint's actions: its port methods and `GetSecretValue` (the key only).
 *
 * @since 0.2.0
 * @category models
 */
export const usage: ReadonlyArray<string> = [...actionsOfMethods(usageMethods), ...secrets].sort()

/**
 * The operators' CLI (link, unlink, list, table setup, `infra status`): every action of every adapter.
 *
 * @since 0.2.0
 * @category models
 */
export const operator: ReadonlyArray<string> = actionsOf(
  commands.customerRepo,
  commands.usageSource,
  commands.planAdmin,
  commands.secrets,
  commands.createTable,
  commands.describeTable,
  commands.describeUsagePlan
)
