/**
 * How a customer record is stored: its keys, the encoded `Customer` plus the entity and sparse-index
 * attributes, and the schema check on the way back.
 */
import { Customer, CustomerRepo } from "@augint-billing/core"
import { Effect, Schema } from "effect"
import { TableLayout } from "../DynamoTable.js"

const L = TableLayout
/** `pk` of a customer record. */
export const customerKey = (customerId: string) => ({ [L.partitionKey]: `${L.customerPrefix}${customerId}` })
/** `pk` of an API-key claim. */
export const apiKeyKey = (apiKeyId: string) => ({ [L.partitionKey]: `${L.apiKeyPrefix}${apiKeyId}` })
/** `pk` of a processed-event marker. */
export const eventKey = (eventId: string) => ({ [L.partitionKey]: `${L.eventPrefix}${eventId}` })

const encodeCustomer = Schema.encode(Customer.Customer)
const decodeCustomer = Schema.decodeUnknown(Customer.Customer)

/** A record or input the table cannot hold: never transient. */
export const invalid = (message: string, cause?: unknown) =>
  new CustomerRepo.CustomerRepoError({ reason: "Invalid", message, ...(cause === undefined ? {} : { cause }) })

/** The stored form of a record: the encoded customer plus key and index attributes. */
export const toItem = (
  customer: Customer.Customer
): Effect.Effect<Record<string, unknown>, CustomerRepo.CustomerRepoError> =>
  encodeCustomer(customer).pipe(
    Effect.mapError((e) => invalid(`customer ${customer.customerId} does not encode: ${e.message}`, e)),
    Effect.map((encoded) => ({
      ...encoded,
      ...customerKey(customer.customerId),
      [L.entityAttribute]: "customer",
      ...(Customer.isSyncCandidate(customer) ? { [L.syncAttribute]: "1" } : {})
    }))
  )

/** A stored item decoded with the schema: a malformed record is an `Invalid` error, never trusted. */
export const fromItem = (
  item: Record<string, unknown>
): Effect.Effect<Customer.Customer, CustomerRepo.CustomerRepoError> =>
  decodeCustomer(item).pipe(
    Effect.mapError((e) => invalid(`stored record ${String(item[L.partitionKey])} is malformed: ${e.message}`, e))
  )
