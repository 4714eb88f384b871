from lrtui.commands.main import main_exit

main_exit()
