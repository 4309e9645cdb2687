/** Instruments: sharpness measures, the Hessian, the gradient's anatomy, interpolation. */
export { hvpOperator, topEigenvalue, hessianTrace, randomLike, type HvpOperator, type EigenResult, type TraceResult, type ScalarLoss } from "./hessian.js";
export { mSharpness, averageSharpness, type Ball, type SharpnessOptions, type SharpnessResult, type AverageSharpness } from "./m-sharpness.js";
export { rescaleMlp, reparameterizationCheck, type ReparamRow } from "./reparam.js";
export { decompose, emaTracking, type BatchAnatomy } from "./anatomy.js";
export { interpolate, landscape2d, filterNormalizedDirection, type Metrics, type Landscape } from "./landscape.js";
