/**
 * Minimal line plots as standalone SVG strings (no dependencies), for the generated docs.
 * The implementation moved to the library (`src/runtime/Plot.ts`); this module re-exports it
 * for the bench scripts.
 */
import * as Plot from "../../src/runtime/Plot.ts"

export type Series = Plot.Series
export type PlotOptions = Plot.PlotOptions

export const linePlot = Plot.linePlot
