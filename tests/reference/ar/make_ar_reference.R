# Reference values for mestimate's autoregressive models (tests/sequence/test_ar_reference.py).
# Run from this directory:  Rscript make_ar_reference.R
# Writes the series used (CSV) and R's estimates (ar_reference.json, full precision).
suppressPackageStartupMessages({library(sandwich); library(MASS); library(jsonlite)})

lagmat <- function(y, p) {            # rows t = p+1..n: y_t, y_{t-1}, ..., y_{t-p}
  n <- length(y)
  out <- do.call(cbind, lapply(0:p, function(j) y[(p + 1 - j):(n - j)]))
  colnames(out) <- c("y", paste0("lag", seq_len(p)))
  as.data.frame(out)
}
stacked <- function(y, g, p, f = identity) {  # lagged design within each sequence g
  do.call(rbind, lapply(split(seq_along(y), factor(g, levels = unique(g))), function(i) {
    d <- lagmat(y[i], p); d[-1] <- f(d[-1]); d$row <- i[(p + 1):length(i)]; d
  }))
}
mat <- function(m) unname(as.matrix(m))
out <- list()

## 1. Gaussian AR(p), conditional sum of squares: arima(method = "CSS") and lm on the lags
series <- list(lh = as.numeric(lh), LakeHuron = as.numeric(LakeHuron),
               log10_lynx = log10(as.numeric(lynx)))
orders <- list(lh = c(1, 3), LakeHuron = c(2), log10_lynx = c(2))
for (nm in names(series)) {
  y <- series[[nm]]
  write.csv(data.frame(y = y), paste0("series_", nm, ".csv"), row.names = FALSE)
  for (p in orders[[nm]]) {
    fa <- arima(y, order = c(p, 0, 0), method = "CSS",
                optim.control = list(reltol = 1e-15, maxit = 5000))
    d <- lagmat(y, p)
    fl <- lm(y ~ ., data = d)
    out[[paste0(nm, "_ar", p)]] <- list(
      series = nm, lags = p,
      arima_coef = unname(coef(fa)[seq_len(p)]),      # ar1..arp
      arima_mean = unname(coef(fa)["intercept"]),     # R's "intercept" is the MEAN
      arima_sigma2 = fa$sigma2, arima_loglik = fa$loglik,
      lm_coef = unname(coef(fl)),                     # const, lag1..lagp
      lm_vcov = mat(vcov(fl)),
      nw3_vcov = mat(NeweyWest(fl, lag = 3, prewhite = FALSE, adjust = FALSE)))
  }
}

## 2. Poisson AR on log(1 + lags) with exog: Seatbelts VanKilled, lags 2, exog law
sb <- data.frame(VanKilled = as.numeric(Seatbelts[, "VanKilled"]), law = as.numeric(Seatbelts[, "law"]))
write.csv(sb, "series_seatbelts.csv", row.names = FALSE)
d <- lagmat(sb$VanKilled, 2); d[-1] <- log1p(d[-1]); d$law <- sb$law[-(1:2)]
fp <- glm(y ~ ., family = poisson, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
out$seatbelts_poisson_ar2 <- list(
  coef = unname(coef(fp)), vcov = mat(vcov(fp)),
  nw_auto_vcov = mat(NeweyWest(fp, prewhite = FALSE)),      # the default HAC of one sequence
  nw_auto_lag = floor(bwNeweyWest(fp, kernel = "Bartlett", prewhite = FALSE)),
  loglik = as.numeric(logLik(fp)))

## 3. Poisson AR on many sequences: MASS::epil, seizure counts of 59 patients x 4 periods
ep <- epil[order(epil$subject, epil$period), c("subject", "period", "y", "trt")]
ep$progabide <- as.numeric(ep$trt == "progabide")
write.csv(ep[, c("subject", "period", "y", "progabide")], "series_epil.csv", row.names = FALSE)
d <- stacked(ep$y, ep$subject, 1, log1p); d$progabide <- ep$progabide[d$row]
d$subject <- ep$subject[d$row]
fe <- glm(y ~ lag1 + progabide, family = poisson, data = d,
          control = glm.control(epsilon = 1e-14, maxit = 100))
out$epil_poisson_ar1 <- list(
  coef = unname(coef(fe)), vcov = mat(vcov(fe)),
  cl_vcov = mat(vcovCL(fe, cluster = ~subject, type = "HC1", cadjust = TRUE)),  # default: by sequence
  nobs = nrow(d))

## 4. Logistic AR: sunspot.year above its median, lags 2
sy <- as.numeric(sunspot.year > median(sunspot.year))
write.csv(data.frame(y = sy), "series_sunspot_high.csv", row.names = FALSE)
fb <- glm(y ~ ., family = binomial, data = lagmat(sy, 2),
          control = glm.control(epsilon = 1e-14, maxit = 100))
out$sunspot_logistic_ar2 <- list(coef = unname(coef(fb)), vcov = mat(vcov(fb)))

## 5. Gaussian AR on many sequences: ChickWeight, weight by chick, lags 1
cw <- as.data.frame(ChickWeight)[, c("Chick", "Time", "weight")]
cw$Chick <- as.integer(as.character(cw$Chick))
cw <- cw[order(cw$Chick, cw$Time), ]
write.csv(cw, "series_chickweight.csv", row.names = FALSE)
d <- stacked(cw$weight, cw$Chick, 1); d$Chick <- cw$Chick[d$row]
fc <- lm(y ~ lag1, data = d)
out$chickweight_ar1 <- list(
  coef = unname(coef(fc)), sigma2_ml = mean(residuals(fc)^2),
  cl0_vcov = mat(vcovCL(fc, cluster = ~Chick, type = "HC0", cadjust = TRUE)))

out$R_version <- R.version.string
out$sandwich_version <- as.character(packageVersion("sandwich"))
write_json(out, "ar_reference.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
