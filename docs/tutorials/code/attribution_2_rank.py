att = res.attribute("we must ", "never give up", by="document", top=5)
print(att.round(2).to_string(index=False))
