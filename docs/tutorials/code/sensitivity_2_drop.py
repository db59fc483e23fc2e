for kind in ("significance", "sign"):
    s = res.sensitivity("age", kind=kind)
    print(s.summary())
s = res.sensitivity("age", kind="significance")
print("first dropped rows:", s.dropped[:8].tolist())
for what in ("original", "predicted", "refit"):
    v = getattr(s, what)
    print(f"{what:9s} estimate {v.estimate:+.4f}  se {v.se:.4f}  p {v.pvalue:.3g}")
