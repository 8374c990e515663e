/** Start the named local servers (stripe-mock, dynamodb-local, moto); returns the teardown. */
export declare const startServers: (...names: ReadonlyArray<"stripe-mock" | "dynamodb-local" | "moto">) => () => void
