#include "compiler/driver/Command.h"
