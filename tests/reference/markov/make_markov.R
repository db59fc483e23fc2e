# Reference values for tests/sequence/test_markov_reference.py (run: Rscript make_markov.R).
# Order-2 character Markov chain with additive smoothing alpha, written independently in base R:
# the first k characters of each document are conditioning only; p = (n_ca + alpha)/(n_c + A alpha).
docs <- c(a = "the cat sat on the mat", b = "a hat on a cat", c = "that man ate the oats",
          d = "to", e = "the tan cat ran at the man")
k <- 2; alpha <- 0.5
ctx_q <- "the c"; resp_q <- "at sat"
alphabet <- sort(unique(unlist(strsplit(paste(docs, collapse = ""), ""))), method = "radix")
A <- length(alphabet)
transitions <- function(texts) {
  out <- do.call(rbind, lapply(names(texts), function(nm) {
    s <- strsplit(texts[[nm]], "")[[1]]
    if (length(s) <= k) return(NULL)
    t <- (k + 1):length(s)
    data.frame(doc = nm, ctx = vapply(t, function(i) paste(s[(i - k):(i - 1)], collapse = ""), ""),
               sym = s[t], stringsAsFactors = FALSE)
  }))
  out
}
log_prob <- function(texts, ctx, resp) {
  tr <- transitions(texts)
  full <- strsplit(paste0(ctx, resp), "")[[1]]
  total <- 0
  for (j in (nchar(ctx) + 1):length(full)) {
    c <- paste(full[(j - k):(j - 1)], collapse = "")
    n_c <- sum(tr$ctx == c); n_ca <- sum(tr$ctx == c & tr$sym == full[j])
    total <- total + log((n_ca + alpha) / (n_c + A * alpha))
  }
  total
}
tr <- transitions(docs)
tab <- table(factor(tr$ctx), factor(tr$sym, levels = alphabet))
probs <- (unclass(tab) + alpha) / (rowSums(tab) + A * alpha)
probs_df <- data.frame(context = rownames(probs), probs, check.names = FALSE)
write.csv(probs_df, "transition_probs.csv", row.names = FALSE)
full_lp <- log_prob(docs, ctx_q, resp_q)
loo <- vapply(names(docs), function(nm) log_prob(docs[names(docs) != nm], ctx_q, resp_q), 0)
write.csv(data.frame(document = c("(full)", names(docs)), log_prob = c(full_lp, loo)),
          "loo_log_prob.csv", row.names = FALSE)
# first-order predicted change on removal, -score/N, as a finite difference in the document weight
N <- nrow(tr)
weighted_lp <- function(nm, w) {
  full <- strsplit(paste0(ctx_q, resp_q), "")[[1]]
  wt <- ifelse(tr$doc == nm, w, 1)
  total <- 0
  for (j in (nchar(ctx_q) + 1):length(full)) {
    c <- paste(full[(j - k):(j - 1)], collapse = "")
    total <- total + log((sum(wt[tr$ctx == c & tr$sym == full[j]]) + alpha) / (sum(wt[tr$ctx == c]) + A * alpha))
  }
  total
}
h <- 1e-4
score <- vapply(names(docs), function(nm) N * (weighted_lp(nm, 1 + h) - weighted_lp(nm, 1 - h)) / (2 * h), 0)
write.csv(data.frame(document = names(docs), score = score), "scores_fd.csv", row.names = FALSE)
