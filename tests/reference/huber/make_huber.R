# Reference values for mestimate.models.Huber from R's MASS::rlm (Huber psi, MAD scale).
# Run from this directory:  Rscript make_huber.R
# Writes data_<name>.csv (y, x1, ..., the design without the constant) and
# results.json (coefficients, scale s, summary.rlm standard errors, converged residual
# scale check) for each case.
#
# Conventions of MASS::rlm (read from MASS:::rlm.default, MASS 7.3):
#   * scale.est = "MAD" updates s = median(abs(resid)) / 0.6745 at the start of every
#     IRLS iteration, i.e. the MAD is centred at 0, as in statsmodels' mad(resid, center=0),
#     but with the constant 0.6745 instead of qnorm(3/4) = 0.6744898.
#   * the returned s is the scale at which the final coefficients solve the Huber equations.
#   * summary.rlm's standard errors are Huber's H1 formula with var(psi') using n - 1.
suppressPackageStartupMessages(library(MASS))
library(jsonlite)

fit_case <- function(name, y, X, k = 1.345) {
  d <- data.frame(y = y, X)
  write.csv(d, sprintf("data_%s.csv", name), row.names = FALSE)
  fit <- rlm(y ~ ., data = d, psi = psi.huber, k = k, scale.est = "MAD",
             maxit = 1000, acc = 1e-13)
  stopifnot(fit$converged)
  sm <- summary(fit)
  list(name = name, k = k, n = nrow(d),
       coef = unname(coef(fit)), coef_names = names(coef(fit)),
       scale = fit$s,
       scale_check = median(abs(residuals(fit))) / 0.6745,
       se = unname(sm$coefficients[, 2]),
       iterations = length(fit$conv))
}

out <- list()
# 1. stackloss (also in statsmodels.datasets.stackloss)
out[[1]] <- fit_case("stackloss", stackloss$stack.loss,
                     stackloss[, c("Air.Flow", "Water.Temp", "Acid.Conc.")])
# 2. simulated: heavy tails and gross outliers
set.seed(20240611)
n <- 150
X <- data.frame(x1 = rnorm(n), x2 = runif(n, -2, 2), x3 = rbinom(n, 1, 0.4))
y <- 1 + 2 * X$x1 - 0.5 * X$x2 + 0.8 * X$x3 + rt(n, df = 3)
y[1:8] <- y[1:8] + 25
out[[2]] <- fit_case("simulated", y, X)
# 3. the same data with another tuning constant
out[[3]] <- fit_case("simulated_k2", y, X, k = 2.0)
file.copy("data_simulated.csv", "data_simulated_k2.csv", overwrite = TRUE)

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "results.json")
