/**
 * Minimal ambient types for the parts of jstat (1.9.x, no bundled types) that report/stats.ts
 * uses. The package is CommonJS and exports the jStat object as module.exports.
 */
declare module "jstat" {
  interface JStatStatic {
    chisquare: {
      /** Cumulative distribution function of the chi-square distribution with dof degrees of freedom. */
      cdf(x: number, dof: number): number;
    };
    beta: {
      /** Quantile (inverse CDF) of the Beta(alpha, beta) distribution. */
      inv(p: number, alpha: number, beta: number): number;
    };
    normal: {
      /** Quantile of the normal distribution with the given mean and standard deviation. */
      inv(p: number, mean: number, std: number): number;
    };
  }
  const jStat: JStatStatic;
  export default jStat;
}
