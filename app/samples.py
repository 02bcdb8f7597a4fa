"""(placeholder: built-in sample images, generated at start-up)"""


def load_samples(store) -> None:
    return None
