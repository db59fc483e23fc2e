# R with the sandwich package, for comparison (same data)
library(sandwich)
grunfeld <- read.csv("grunfeld.csv")   # statsmodels' copy, saved with DataFrame.to_csv
fit <- lm(invest ~ value + capital, data = grunfeld)
sqrt(diag(vcovCL(fit, cluster = ~ firm)))             # = "cluster(firm)"
sqrt(diag(vcovCL(fit, cluster = ~ firm + year)))      # = "cluster(firm, year)"
