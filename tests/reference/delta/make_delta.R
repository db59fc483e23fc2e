# Reference values for mestimate.delta: car::deltaMethod (symbolic derivatives via D())
# on lm and glm fits with vcov(), sandwich HC0 and HC3; vector-valued phi via the
# analytic Jacobian (stats::deriv, checked against a hand-written Jacobian and numDeriv)
# and J V J'. Run from this directory:  Rscript make_delta.R   -> delta_reference.json
suppressPackageStartupMessages({library(car); library(sandwich); library(jsonlite); library(numDeriv)})
stopifnot(packageVersion("car") >= "3.0")

cases <- list()

add_cases <- function(model_name, fit, funs) {
  # funs: list of c(r = <R expression in cleaned names>, py = <mestimate expression>)
  b <- coef(fit)
  clean <- gsub("\\(Intercept\\)", "Intercept", names(b))
  for (vt in c("nonrobust", "HC0", "HC3")) {
    V <- if (vt == "nonrobust") vcov(fit) else vcovHC(fit, type = vt)
    out <- list()
    J <- NULL
    est <- NULL
    for (f in funs) {
      d95 <- deltaMethod(fit, f[["r"]], vcov. = V, parameterNames = clean, rhs = 0)
      d90 <- deltaMethod(fit, f[["r"]], vcov. = V, parameterNames = clean, level = 0.90)
      out[[length(out) + 1]] <- list(
        r = f[["r"]], py = f[["py"]], estimate = d95$Estimate, se = d95$SE,
        lower = d95[["2.5 %"]], upper = d95[["97.5 %"]],
        lower90 = d90[["5 %"]], upper90 = d90[["95 %"]],
        z = d95[["z value"]], p = d95[["Pr(>|z|)"]])
      g <- deriv(parse(text = f[["r"]]), clean, function.arg = clean)
      val <- do.call(g, as.list(unname(b)))
      J <- rbind(J, attr(val, "gradient"))
      est <- c(est, as.numeric(val))
      # numerical cross-check of the symbolic gradient
      h <- function(t) { e <- new.env(); for (i in seq_along(t)) assign(clean[i], t[i], e)
                         eval(parse(text = f[["r"]]), e) }
      stopifnot(isTRUE(all.equal(as.numeric(numDeriv::grad(h, unname(b))),
                                 as.numeric(attr(val, "gradient")), tolerance = 1e-6)))
    }
    C <- J %*% V %*% t(J)
    stopifnot(isTRUE(all.equal(sqrt(diag(C)), sapply(out, `[[`, "se"), tolerance = 1e-12)))
    cases[[length(cases) + 1]] <<- list(
      model = model_name, vcov_type = vt, param_names = names(b), params = unname(b),
      vcov = unname(V), functions = out,
      vector = list(estimate = est, jacobian = unname(J), cov = unname(C)))
  }
}

# 1. Linear model, mtcars
fit_lm <- lm(mpg ~ hp + wt, data = mtcars)
b <- coef(fit_lm)
# hand-written Jacobian of (hp/wt, exp(wt), hp*wt) for the record
J_hand <- rbind(c(0, 1 / b[["wt"]], -b[["hp"]] / b[["wt"]]^2),
                c(0, 0, exp(b[["wt"]])),
                c(0, b[["wt"]], b[["hp"]]))
g3 <- deriv(~ hp / wt, c("Intercept", "hp", "wt"), function.arg = TRUE)
stopifnot(isTRUE(all.equal(as.numeric(attr(g3(b[[1]], b[[2]], b[[3]]), "gradient")),
                           J_hand[1, ], tolerance = 1e-14)))
add_cases("lm_mtcars", fit_lm, list(
  c(r = "hp/wt", py = "hp/wt"),
  c(r = "exp(wt)", py = "exp(wt)"),
  c(r = "hp*wt", py = "hp*wt"),
  c(r = "Intercept/(1 - hp - wt)", py = "`(Intercept)`/(1 - hp - wt)"),
  c(r = "sqrt(hp^2 + wt^2)", py = "sqrt(hp**2 + wt**2)")))

# 2. Logistic regression, carData::Mroz
fit_logit <- glm(lfp ~ k5 + age + wc + lwg + inc, family = binomial, data = Mroz)
add_cases("logit_mroz", fit_logit, list(
  c(r = "exp(k5)", py = "exp(k5)"),
  c(r = "k5/inc", py = "k5/inc"),
  c(r = "exp(Intercept + k5)/(1 + exp(Intercept + k5))", py = "expit(`(Intercept)` + k5)"),
  c(r = "log(exp(wcyes) - 1)", py = "log(expm1(wcyes))")))

# 3. Poisson regression, datasets::warpbreaks
fit_pois <- glm(breaks ~ wool + tension, family = poisson, data = warpbreaks)
add_cases("poisson_warpbreaks", fit_pois, list(
  c(r = "exp(woolB)", py = "exp(woolB)"),
  c(r = "exp(Intercept + woolB + tensionH)", py = "exp(Q(\"(Intercept)\") + woolB + tensionH)"),
  c(r = "tensionM/tensionH", py = "tensionM/tensionH"),
  c(r = "log(exp(tensionM) + exp(tensionH))", py = "log(exp(tensionM) + exp(tensionH))")))

write_json(list(r_version = R.version.string, car_version = as.character(packageVersion("car")),
                sandwich_version = as.character(packageVersion("sandwich")), cases = cases),
           "delta_reference.json", digits = NA, auto_unbox = TRUE, matrix = "rowmajor",
           pretty = TRUE)
cat("wrote", length(cases), "cases\n")
