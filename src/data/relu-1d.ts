/**
 * The 12-point 1-D regression problem of 002 §4.3, Fig 7 (Andriushchenko & Flammarion 2022):
 * the data of Blanc et al. (2020), itself taken from Maennel et al. (2018), exactly as the
 * authors' notebook builds it (tml-epfl/understanding-sam, `one_layer_relu_nets/1d_nn.ipynb`,
 * its second code cell, "same data as paper by Maennel"):
 *
 *   x = [−5.5, −4.5, …, 5.5] / 4 + 0.07        (12 evenly spaced points, step 0.25)
 *   y = 0.345 + [−2, 1.5, 0, 0, 2, 1, 0, −1, 0, 1, 2, −1]
 *
 * Computed here in float64 with the same operations as the notebook's numpy (the notebook then
 * casts to float32 for torch; we keep float64).
 */

const X_GRID = [-5.5, -4.5, -3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5];
const Y_OFFSETS = [-2, 1.5, 0, 0, 2, 1, 0, -1, 0, 1, 2, -1];

/**
 * The Blanc et al. / Maennel et al. 1-D data set as used in 002 Fig 7: 12 points (x, y).
 *
 * @example
 * ```ts
 * const r = trainReluNet1d(BLANC_1D, { method: "erm", seed: 0 });
 * ```
 */
export const BLANC_1D: { readonly x: readonly number[]; readonly y: readonly number[] } = Object.freeze({
  x: Object.freeze(X_GRID.map((v) => v / 4 + 0.07)),
  y: Object.freeze(Y_OFFSETS.map((v) => 0.345 + v)),
});
