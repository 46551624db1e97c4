/**
 * Entry point of the `trustregion` executable.
 *
 * @since 0.1.0
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import * as Cli from "./Cli.ts"

Cli.command.pipe(
  Command.run({ version: Cli.version }),
  Effect.provide(Layer.mergeAll(NodeServices.layer, Cli.layer)),
  NodeRuntime.runMain
)
