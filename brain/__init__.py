"""brain/: the small-model pipeline that learns the combat rules (data, tokenizer, model, training, eval)."""
