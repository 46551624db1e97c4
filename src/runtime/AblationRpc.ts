/**
 * The protocol between `trustregion ablate` and its worker threads: one request trains (or
 * resumes) one run into its directory with the file-system run store.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Rpc, RpcGroup } from "effect/rpc"
import * as Runs from "./Runs.ts"

/**
 * @category rpc
 */
export class AblationRpcs extends RpcGroup.make(
  Rpc.make("TrainRun", {
    payload: { dir: Schema.String, config: Runs.Config, resume: Schema.Boolean },
    success: Schema.Struct({ iterations: Schema.Int }),
    error: Schema.String
  })
) {}
