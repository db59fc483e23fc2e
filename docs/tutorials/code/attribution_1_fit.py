import mestimate as me
from mestimate.sequence.corpus import load_sotu

speeches = load_sotu()                                 # 249 addresses, 1790 onwards
res = me.MarkovChain(speeches, order=4).fit()          # characters, 4 previous symbols
print(res)
print(round(float(res.log_prob("we must ", "never give up")), 3))
