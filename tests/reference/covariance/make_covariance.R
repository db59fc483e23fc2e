## Reference values for mestimate.covariance, computed with R's sandwich package.
## Run from this directory:  Rscript make_covariance.R
## Writes data_*.csv (the data each model was fitted on) and results.csv, a long table
## (model, method, i, j, value) of coefficients, covariance matrices (i, j 1-based)
## and scalars (i = j = 0), all printed with 17 significant digits.
suppressPackageStartupMessages(library(sandwich))

fmt <- function(x) sprintf("%.17g", x)
rows <- list()
put <- function(model, method, value) {
  value <- as.matrix(value)
  if (length(value) == 1L && is.null(dimnames(value)[[2]]) && nrow(value) == 1L) {
    ij <- data.frame(i = 0L, j = 0L)
  } else {
    ij <- expand.grid(i = seq_len(nrow(value)), j = seq_len(ncol(value)))
  }
  rows[[length(rows) + 1L]] <<- data.frame(model = model, method = method,
    i = ij$i, j = ij$j, value = fmt(as.vector(value)))
}
put_scalar <- function(model, method, value) {
  rows[[length(rows) + 1L]] <<- data.frame(model = model, method = method,
    i = 0L, j = 0L, value = fmt(value))
}
write_data <- function(d, file) {
  out <- as.data.frame(lapply(d, function(v) if (is.numeric(v)) fmt(v) else v))
  write.csv(out, file, row.names = FALSE, quote = FALSE)
}

## ---- data -------------------------------------------------------------------
data("PetersenCL", package = "sandwich")
pet <- PetersenCL
pet$yb <- as.integer(pet$y > 0)
write_data(pet[, c("firm", "year", "x", "y", "yb")], "data_petersen.csv")

data("PublicSchools", package = "sandwich")
ps <- na.omit(PublicSchools)
ps$Income <- ps$Income * 1e-4
write_data(ps, "data_publicschools.csv")

data("Investment", package = "sandwich")
inv <- na.omit(as.data.frame(Investment)[, c("RealInv", "RealGNP", "RealInt")])
write_data(inv, "data_investment.csv")

mt <- mtcars[, c("carb", "wt", "hp", "cyl", "gear")]
write_data(mt, "data_mtcars.csv")

## ---- models -----------------------------------------------------------------
models <- list(
  ps_lm = lm(Expenditure ~ Income + I(Income^2), data = ps),
  pet_lm = lm(y ~ x, data = pet),
  ## tight IRLS tolerance: R's glm takes working weights from the last-but-one
  ## iteration, so a loose fit would make estfun differ from the score at coef()
  pet_logit = glm(yb ~ x, family = binomial, data = pet, control = glm.control(epsilon = 1e-14, maxit = 100)),
  mt_pois = glm(carb ~ wt + hp, family = poisson, data = mt, control = glm.control(epsilon = 1e-14, maxit = 100)),
  inv_lm = lm(RealInv ~ RealGNP + RealInt, data = inv)
)
for (nm in names(models)) {
  m <- models[[nm]]
  put(nm, "coef", coef(m))
  if (nobs(m) <= 100) put(nm, "hatvalues", hatvalues(m))
  for (type in c("HC0", "HC1", "HC2", "HC3")) put(nm, paste0("vcovHC_", type), vcovHC(m, type = type))
}

## ---- clustered --------------------------------------------------------------
cl_cases <- list(
  pet_lm = list(one = ~firm, two = ~firm + year, other = ~year),
  pet_logit = list(one = ~firm, two = ~firm + year, other = ~year),
  mt_pois = list(one = ~cyl, two = ~cyl + gear, other = ~gear)
)
for (nm in names(cl_cases)) {
  m <- models[[nm]]
  for (cn in names(cl_cases[[nm]])) {
    f <- cl_cases[[nm]][[cn]]
    for (type in c("HC0", "HC1", "HC2", "HC3")) {
      for (cadj in c(TRUE, FALSE)) {
        put(nm, sprintf("vcovCL_%s_%s_cadjust%d", cn, type, cadj),
            vcovCL(m, cluster = f, type = type, cadjust = cadj))
      }
      if (cn == "two") put(nm, sprintf("vcovCL_%s_%s_multi0", cn, type),
                            vcovCL(m, cluster = f, type = type, multi0 = TRUE))
    }
  }
  put(nm, "vcovCL_one_default", vcovCL(m, cluster = cl_cases[[nm]]$one))
}
## sandwich's matrixpower() takes the -1/2 power of the non-symmetric I - H_gg of a
## weighted (glm) fit by a non-symmetric eigendecomposition; for the 500-observation
## year clusters that loses ~4 digits (P P (I - H) - I ~ 1e-4). Recompute those cases
## with matrixpower replaced by the Denman-Beavers iteration (accurate to rounding) and
## store them with the suffix "_accurate".
matrixpower_db <- function(X, p, ...) {
  stopifnot(p == -0.5)
  Y <- X; Z <- diag(nrow(X))
  for (it in 1:50) {  # quadratic convergence; one more step after the change is ~1e-8
    Yn <- (Y + solve(Z)) / 2; Zn <- (Z + solve(Y)) / 2
    done <- max(abs(Zn - Z)) < 1e-8 * max(abs(Zn))
    Y <- Yn; Z <- Zn
    if (done) break
  }
  Yn <- (Y + solve(Z)) / 2; Z <- (Z + solve(Y)) / 2
  Z
}
mp_orig <- sandwich:::matrixpower
assignInNamespace("matrixpower", matrixpower_db, ns = "sandwich")
for (cn in c("two", "other")) {
  f <- cl_cases$pet_logit[[cn]]
  for (cadj in c(TRUE, FALSE)) put("pet_logit", sprintf("vcovCL_%s_HC2_cadjust%d_accurate", cn, cadj),
                                   vcovCL(models$pet_logit, cluster = f, type = "HC2", cadjust = cadj))
  if (cn == "two") put("pet_logit", "vcovCL_two_HC2_multi0_accurate",
                       vcovCL(models$pet_logit, cluster = f, type = "HC2", multi0 = TRUE))
}
assignInNamespace("matrixpower", mp_orig, ns = "sandwich")

## three-way with a made-up third factor on the Petersen data
pet$third <- (pet$firm * 7L + pet$year) %% 13L
put("pet_lm", "vcovCL_three_HC1_cadjust1",
    vcovCL(models$pet_lm, cluster = pet[, c("firm", "year", "third")], type = "HC1"))
put("pet_lm", "vcovCL_three_HC0_multi0",
    vcovCL(models$pet_lm, cluster = pet[, c("firm", "year", "third")], type = "HC0", multi0 = TRUE))

## ---- HAC --------------------------------------------------------------------
kernels <- c("Bartlett", "Parzen", "Quadratic Spectral")
for (nm in c("inv_lm", "pet_lm", "pet_logit", "mt_pois")) {
  m <- models[[nm]]
  for (pw in c(0L, 1L, 2L)) {
    for (kern in kernels) {
      put_scalar(nm, sprintf("bwNeweyWest_%s_pw%d", kern, pw), bwNeweyWest(m, kernel = kern, prewhite = pw))
      put_scalar(nm, sprintf("bwAndrews_%s_pw%d", kern, pw), bwAndrews(m, kernel = kern, prewhite = pw))
      put(nm, sprintf("kernHAC_%s_pw%d", kern, pw), kernHAC(m, kernel = kern, prewhite = pw))
      put(nm, sprintf("kernHAC_%s_pw%d_noadj", kern, pw), kernHAC(m, kernel = kern, prewhite = pw, adjust = FALSE))
      put(nm, sprintf("kernHAC_%s_pw%d_bw3", kern, pw), kernHAC(m, kernel = kern, prewhite = pw, bw = 3.5))
    }
    put_scalar(nm, sprintf("bwAndrews_Truncated_pw%d", pw), bwAndrews(m, kernel = "Truncated", prewhite = pw))
    put(nm, sprintf("kernHAC_Truncated_pw%d_bw3", pw), kernHAC(m, kernel = "Truncated", prewhite = pw, bw = 3.5))
    put_scalar(nm, sprintf("bwNeweyWest_Bartlett_pw%d_w1", pw),
               bwNeweyWest(m, kernel = "Bartlett", prewhite = pw, weights = 1))
    put_scalar(nm, sprintf("bwAndrews_Quadratic Spectral_pw%d_w1", pw),
               bwAndrews(m, prewhite = pw, weights = 1))
  }
  for (pw in c(FALSE, TRUE)) {
    for (lag in c(0L, 1L, 4L)) {
      put(nm, sprintf("NeweyWest_lag%d_pw%d", lag, pw), NeweyWest(m, lag = lag, prewhite = pw))
      put(nm, sprintf("NeweyWest_lag%d_pw%d_adj", lag, pw), NeweyWest(m, lag = lag, prewhite = pw, adjust = TRUE))
    }
    put(nm, sprintf("NeweyWest_auto_pw%d", pw), NeweyWest(m, prewhite = pw))
  }
  put(nm, "kernHAC_default", kernHAC(m))
  put(nm, "vcovHAC_default", vcovHAC(m))
  put(nm, "NeweyWest_default", NeweyWest(m))
}
## ordering: the Investment regression with rows reversed, ordered by year
inv_rev <- inv[nrow(inv):1, ]
inv_rev$year <- as.numeric(rownames(inv_rev))
write_data(inv_rev, "data_investment_reversed.csv")
m_rev <- lm(RealInv ~ RealGNP + RealInt, data = inv_rev)
put("inv_rev", "NeweyWest_lag2_pw1_orderby", NeweyWest(m_rev, lag = 2, prewhite = TRUE, order.by = inv_rev$year))
put("inv_rev", "kernHAC_default_orderby", kernHAC(m_rev, order.by = inv_rev$year))

res <- do.call(rbind, rows)
write.csv(res, "results.csv", row.names = FALSE, quote = TRUE)
cat("wrote", nrow(res), "rows\n")
