# Reference values for tests/test_influence*.py, test_loo*.py, test_diagnostics*.py.
# Run from this directory:  Rscript make_influence.R
# Writes the data sets used (so the tests never need R) and R's numbers.
options(digits = 17)
wr <- function(x, f) write.csv(x, f, row.names = FALSE)

## 1. lm on stackloss: influence.measures, rstandard, rstudent, dfbeta, exact LOO refits
data(stackloss)
wr(stackloss, "data_stackloss.csv")
fit <- lm(stack.loss ~ Air.Flow + Water.Temp + Acid.Conc., data = stackloss)
im <- influence.measures(fit)$infmat
out <- data.frame(im, rstandard = rstandard(fit), rstudent = rstudent(fit),
                  cooks = cooks.distance(fit), hat = hatvalues(fit))
db <- dfbeta(fit); colnames(db) <- paste0("dfbeta.", c("Intercept", "Air.Flow", "Water.Temp", "Acid.Conc."))
out <- cbind(out, db)
loo <- t(sapply(seq_len(nrow(stackloss)), function(i)
  coef(lm(stack.loss ~ Air.Flow + Water.Temp + Acid.Conc., data = stackloss[-i, ]))))
colnames(loo) <- paste0("loo.", c("Intercept", "Air.Flow", "Water.Temp", "Acid.Conc."))
wr(cbind(out, loo), "lm_stackloss.csv")

## 2. weighted lm (weights = 1 + Water.Temp/10): exact LOO refits and influence measures
w <- 1 + stackloss$Water.Temp / 10
fitw <- lm(stack.loss ~ Air.Flow + Water.Temp + Acid.Conc., data = stackloss, weights = w)
loow <- t(sapply(seq_len(nrow(stackloss)), function(i)
  coef(lm(stack.loss ~ Air.Flow + Water.Temp + Acid.Conc., data = stackloss[-i, ], weights = w[-i]))))
colnames(loow) <- paste0("loo.", c("Intercept", "Air.Flow", "Water.Temp", "Acid.Conc."))
wr(data.frame(w = w, loow, cooks = cooks.distance(fitw), hat = hatvalues(fitw),
              rstandard = rstandard(fitw), rstudent = rstudent(fitw)), "wlm_stackloss.csv")

## 3. binomial glm on infert: exact LOO refits (tight tolerance), hat, cooks, rstandard(pearson)
data(infert)
inf <- infert[, c("case", "age", "parity", "induced", "spontaneous")]
wr(inf, "data_infert.csv")
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
gfit <- glm(case ~ age + parity + induced + spontaneous, family = binomial, data = inf, control = ctl)
gloo <- t(sapply(seq_len(nrow(inf)), function(i)
  coef(glm(case ~ age + parity + induced + spontaneous, family = binomial, data = inf[-i, ],
           control = ctl))))
colnames(gloo) <- paste0("loo.", c("Intercept", "age", "parity", "induced", "spontaneous"))
wr(data.frame(gloo, hat = hatvalues(gfit), cooks = cooks.distance(gfit),
              rstandard = rstandard(gfit, type = "pearson")), "glm_infert.csv")

## 4. Poisson glm on warpbreaks with a group left out at a time (wool:tension cells)
data(warpbreaks)
wb <- warpbreaks
wb$cell <- paste(wb$wool, wb$tension, sep = ":")
wr(wb, "data_warpbreaks.csv")
pfit <- glm(breaks ~ wool + tension, family = poisson, data = wb, control = ctl)
cells <- sort(unique(wb$cell))
ploo <- t(sapply(cells, function(g)
  coef(glm(breaks ~ wool + tension, family = poisson, data = wb[wb$cell != g, ], control = ctl))))
colnames(ploo) <- paste0("loo.", c("Intercept", "woolB", "tensionM", "tensionH"))
wr(data.frame(cell = cells, ploo), "glm_warpbreaks_groups.csv")
wr(data.frame(coef = coef(pfit)), "glm_warpbreaks_coef.csv")
