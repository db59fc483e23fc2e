# drop whole groups instead: cells of women with the same age and occupation
cell = fair["age"].astype(str) + "/" + fair["occupation"].astype(str)
print(cell.nunique(), "cells")
print(res.sensitivity("age", kind="significance", groups=cell.to_numpy(),
                     max_fraction=0.25).summary())
