"""Install hints for the optional extras: right for a checkout and for an installed wheel."""

from jaxcrl import extras


def test_an_editable_install_names_its_checkout_and_a_wheel_names_the_package(
    tmp_path, monkeypatch
):
    # A wheel user was told "pip install -e '.[wandb]'", which fails outside the checkout.
    checkout = tmp_path / "jaxcrl checkout"
    checkout.mkdir()
    (checkout / "pyproject.toml").write_text("[project]\nname = 'jaxcrl'\n")
    monkeypatch.setattr(extras, "CHECKOUT", checkout)
    monkeypatch.chdir(checkout)
    assert extras.install_extra("wandb") == "pip install -e '.[wandb]'"
    monkeypatch.chdir(tmp_path)
    assert extras.install_extra("wandb") == f"pip install -e '{checkout}[wandb]'"
    monkeypatch.setattr(extras, "CHECKOUT", tmp_path / "site-packages")  # no pyproject.toml
    assert extras.install_extra("ogbench") == "pip install 'jaxcrl[ogbench]'"
