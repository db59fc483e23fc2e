chk = res.attribution_check("we must ", "never give up", k=8)
print(chk.to_string(index=False, float_format="{:.3g}".format))
print(chk.attrs["agreement"])
